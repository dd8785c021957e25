"""The README's validation example, run as a new user would, writes under results/ and leaves the committed
data (figures/data/) and figures untouched."""

import pytest

from prunescale.cli import main


@pytest.mark.slow  # about a minute: the README's commands through a Dask cluster
@pytest.mark.cifar10
def test_the_readme_validation_example_leaves_the_committed_data_untouched(tmp_path, monkeypatch, capsys):
    from prunescale import figures
    from prunescale.store import digest

    def committed():
        folder = figures.DATA.parent
        return {str(p): digest(p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}

    before = committed()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PRUNESCALE_CACHE", str(tmp_path / "cache"))
    # the README's commands, at toy size: the same options, a 100-image pool and the toy net
    toy_el2n = '{"inits": 1, "epochs": 1, "config": "toy"}'
    main(["validate", "sweep", "--plan", "custom", "--metrics", "el2n", "--pool-sizes", "100", "--seeds", "1",
          "--keep-fractions", "1,0.5", "--config", "toy", "--metric-options", toy_el2n])
    for command in ("fit", "calibrate", "figure"):
        main(["validate", command])
    capsys.readouterr()
    for name in ("runs.csv", "fits.json", "calibration.json", "cifar10.png"):
        assert (tmp_path / "results" / "cifar10" / name).exists()
    assert committed() == before
