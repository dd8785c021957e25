"""prunescale: can we prune training data without hurting the model?

The toolkit lives in three packages: ``theory`` (replica theory), ``sim``
(teacher-student simulations) and ``validation`` (real networks).  This
package holds only the ``prunescale`` console script.
"""

__version__ = "0.1.0"
