"""Generated sample drone survey: a textured synthetic site rendered from a drone flight.

`python -m samples.survey --out DIR` writes photos with drone-like EXIF, the true camera
poses (`truth.json`) and a ZIP; `samples.alignment` compares estimated camera centres with
the truth after a similarity alignment.
"""
