"""heecon.cea"""
