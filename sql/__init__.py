"""The DuckDB SQL files of safestock, shipped as package data and loaded by name with
``safestock.pipelines.sqlfiles.sql("name")``."""
