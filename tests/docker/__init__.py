"""Docker-engine tier (tests arrive with the containers issue)."""
