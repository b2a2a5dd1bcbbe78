"""Papers' cost claims recomputed with the cost model.  Pricing never imports this package."""
