"""heecon.sensitivity"""
