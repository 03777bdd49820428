"""heecon.model"""
