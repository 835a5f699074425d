"""The default input: the seed pattern library shipped with patternkg."""
