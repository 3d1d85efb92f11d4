module go_runtime

go 1.19
