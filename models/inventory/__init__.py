"""Inventory maths: lead times, SKU-aligned planning inputs, (R, s, S) policy, stock projection and
risk, orders, supplier rollup.

Pure functions over pandas frames / numpy arrays, vectorised over SKUs. Sources: Silver, Pyke &
Thomas, *Inventory and Production Management in Supply Chains* (4th ed.); Axsäter, *Inventory
Control*.
"""

from .backtest import backtest_policy
from .config import LeadTimes, PolicyConfig
from .exceptions import find_exceptions
from .lead_time import estimate_lead_times
from .orders import recommend_orders
from .planning_inputs import PlanningInputs, build_planning_inputs
from .policy import compute_policy
from .projection import project_risk
from .suppliers import rollup_suppliers

__all__ = [
    "PolicyConfig", "LeadTimes", "PlanningInputs", "build_planning_inputs", "estimate_lead_times",
    "compute_policy", "project_risk", "recommend_orders", "rollup_suppliers", "backtest_policy",
    "find_exceptions",
]
