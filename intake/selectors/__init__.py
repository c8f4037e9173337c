"""Reads of the intake app: admissions and their claims, authorizations and units used, intake rules, the intake
check and rule violations, program profitability (``program_profitability`` is what the executive dashboard
calls)."""
from .profitability import ProgramProfitability, program_profitability

__all__ = ["ProgramProfitability", "program_profitability"]
