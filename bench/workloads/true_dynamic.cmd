# bench: title=Start-up: dynamic /bin/true
# bench: kind=startup
# bench: runs=30
/bin/true
