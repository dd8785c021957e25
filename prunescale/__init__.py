"""prunescale: can we prune training data without hurting the model?

The toolkit lives in three library packages, ``theory`` (replica theory),
``sim`` (teacher-student simulations) and ``validation`` (real networks), on
the bottom layer ``store`` (files, digests, the keyed store, parameter
checks), with ``figures`` above them.  This package is the top: the
``prunescale`` console script (``cli.py``), one module of commands per
package (``commands/``), their shared option parsing (``options.py``) and the
demo.  Nothing below imports it.
"""

__version__ = "0.1.0"
