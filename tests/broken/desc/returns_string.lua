-- The description returns a string.
return "lenet5"
