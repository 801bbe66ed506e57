"""The weekly flow's tasks, one module per stage: ``inputs`` (read, validate, weekly demand, lead
times, planning inputs), ``forecast`` (partitions, cached), ``overrides`` (the planner's),
``planning`` (policy, replay and calibration, risk, orders, excess, lost sales), ``outputs`` (write,
reports). Each task only calls ``models/`` or a pipelines room; ``flow.py`` wires them."""
