"""heecon.markov"""
