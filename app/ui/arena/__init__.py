"""The blind arena window: a round, the vote and its reveal, the board."""
