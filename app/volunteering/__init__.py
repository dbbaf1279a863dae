"""The public call for volunteers and the coordination's decisions on the requests."""
