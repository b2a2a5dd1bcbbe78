"""Papers' cost claims recomputed with the cost model.  Pricing never imports this package.

:data:`STUDIES`: the studies a sweep spec may run beside its points (``studies: [mixpe]``), each a function
returning claim records (:class:`cost_models.studies.verdict.ClaimRecord`).
"""


def _mixpe():
    from cost_models.studies.mixpe import records

    return records()


STUDIES = {"mixpe": _mixpe}
