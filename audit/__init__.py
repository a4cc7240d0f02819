"""The audit trail (21 CFR 11.10(e), EU GMP Annex 11 §9): captured in the transaction of each change,
sealed into an RFC 6962 Merkle log with Ed25519-signed checkpoints, exportable and verifiable offline."""
