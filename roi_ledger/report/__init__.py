"""What the owner reads: the published marts turned into plain sentences (``summary``)."""
