"""heecon.report"""
