"""CDS Hooks 2.0 service for tofacitinib in myositis-associated interstitial lung disease."""

__version__ = "0.1.0"
