"""Stack configuration: the `Pulumi.<stack>.yaml` files and the settings they turn into."""
