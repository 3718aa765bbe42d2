"""What waits for the provider: the live queue, today's schedule, E-Visits, new-patient alerts."""
