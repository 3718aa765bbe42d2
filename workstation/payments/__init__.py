"""Payment processors the hub is given (``start_hub(processor=...)``): Stripe for a clinic."""
