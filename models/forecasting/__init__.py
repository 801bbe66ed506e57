"""Forecasting engine: demand classification, vectorised models, backtest selection, intervals.

Public interface used by the pipeline::

    from models.forecasting import forecast_demand, ForecastResult

Modules: ``classify`` (Syntetos–Boylan, ABC/XYZ), ``smoothing`` (naive, seasonal naive, SES,
damped Holt), ``seasonal`` (shrunk Fourier seasonal indices x SES), ``intermittent`` (Croston,
SBA, TSB), ``metrics`` (RMSSE/MASE/WAPE/bias), ``backtest`` (rolling origin, selection),
``intervals`` (empirical and count-distribution bands), ``engine`` (``forecast_demand``).
"""

from .engine import ForecastResult, forecast_demand

__all__ = ["ForecastResult", "forecast_demand"]
