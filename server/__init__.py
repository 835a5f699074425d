"""The SPARQL endpoint and linked-data server (Flask app factory in :mod:`.app`)."""
