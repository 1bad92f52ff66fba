"""Running an install: admins' account actions, backups, database copy, health."""
