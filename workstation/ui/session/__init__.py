"""The provider at this computer: sign-in, first account, lock screen, idle timer, quick start."""
