"""Payer contracts: effective-dated terms, expected reimbursement, underpayment, quarterly reviews."""
