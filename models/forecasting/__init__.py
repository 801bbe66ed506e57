"""Forecasting engine: demand classification, vectorised models, backtest selection, intervals.

Public interface used by the pipeline::

    from safestock.models.forecasting import forecast_demand, ForecastResult

Modules: ``classify`` (Syntetos–Boylan, ABC/XYZ), ``smoothing`` (naive, seasonal naive, SES,
damped Holt), ``seasonal`` (shrunk Fourier seasonal indices x SES), ``intermittent`` (Croston,
SBA, TSB), ``metrics`` (RMSSE/MASE/WAPE/bias), ``candidates`` (the models offered, run from every cut),
``backtest`` (rolling-origin scores, selection),
``intervals`` (empirical and count-distribution bands), ``hurdle`` (weekly distribution of
intermittent demand), ``windows`` (demand summed over k weeks: ``window_demand``), ``coverage``
(calibration per class), ``engine`` (``forecast_demand``).

The distribution of total demand over any window of weeks of a forecast::

    from safestock.models.forecasting import window_demand
    totals = window_demand(result.mean, result.sd, result.family, result.level_error_weeks, weeks=8)
"""

from .engine import ForecastResult, forecast_demand
from .windows import WindowDemand, window_demand

__all__ = ["ForecastResult", "forecast_demand", "WindowDemand", "window_demand"]
