"""Audit: the tamper-evident hash chain (``chain``) and IHE BALP AuditEvent builders (``balp``).

Both are pure; the store persists what they compute.
"""
