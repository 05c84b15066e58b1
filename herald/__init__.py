"""Herald core: settings, database, ids, errors, templating, crypto."""
