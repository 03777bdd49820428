"""heecon.costs"""
