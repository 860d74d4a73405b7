"""Reading the server and the pooler: the settings, activity and config pool-doctor judges the path by."""
