"""engine/microsim"""
