"""CDS Hooks 2.0: the referral card inside the clinician's EHR, and its feedback.

https://cds-hooks.hl7.org/2.0/ : discovery (``GET /cds-services``), the
``patient-view`` service, cards, prefetch, feedback, and "Trusting CDS Clients"
(the JWT each call carries). docs/cds-hooks.md tells an EHR how to register it.
"""
