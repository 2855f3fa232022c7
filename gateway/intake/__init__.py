"""Intake: the v1 triage-result contract, validated and turned into a stored referral."""
