"""The live dashboard: `stockpipe dashboard` serves charts, alerts and health on 127.0.0.1."""
