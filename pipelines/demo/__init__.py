"""Demo generation: a seeded synthetic company (items, suppliers, daily sales, purchase orders,
inventory) whose stock-outs and late deliveries come out of a simulated replenishment policy.

Rooms: ``params`` (per-SKU generating parameters), ``replenishment`` (the day-by-day
simulation), ``data`` (drawing the company and writing the input files).
"""
