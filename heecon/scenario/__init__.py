"""heecon.scenario"""
