"""How to address each upstream dialect: URLs and headers. Pure."""
