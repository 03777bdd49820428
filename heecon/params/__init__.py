"""heecon.params"""
