"""English dates as an international secretariat writes them: day month year, a 24-hour clock.

Django's own English formats are American ("Dec. 18, 2026, 10 a.m."): the month abbreviated
with a full stop, and a time that ends in one, so a sentence that ends with a date ends in "..".
Every page, e-mail and document formats dates through these names (DATE_FORMAT, DATETIME_FORMAT...).
"""

DATE_FORMAT = "j F Y"  # 18 December 2026
TIME_FORMAT = "H:i"  # 10:00
DATETIME_FORMAT = "j F Y, H:i"  # 18 December 2026, 10:00
YEAR_MONTH_FORMAT = "F Y"
MONTH_DAY_FORMAT = "j F"
SHORT_DATE_FORMAT = "j M Y"  # 18 Dec 2026
SHORT_DATETIME_FORMAT = "j M Y, H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
