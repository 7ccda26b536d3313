"""Commands of the `clanker` command line that run the product (see `clanker.__main__`)."""
