import sys

host, port = (sys.argv[1:3] + ["127.0.0.1", "8000"])[:2]
print(
    f"""
Clinic CRM is starting on http://{host}:{port}/  (Ctrl-C stops web, worker and beat)

Demo accounts (password: Clinic-demo-2026):
  admin@demo.clinic        administrator, every branch (call centre)
  admin.sokol@demo.clinic  administrator of one branch
  doctor@demo.clinic       doctor
  curator@demo.clinic      curator
  manager@demo.clinic      manager
At first login each account sets up an authenticator app (scan the QR code, or type the
key into any TOTP app) and receives one-time backup codes.
""",
    flush=True,
)
