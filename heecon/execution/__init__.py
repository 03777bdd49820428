"""heecon.execution"""
