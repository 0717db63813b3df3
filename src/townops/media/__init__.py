"""Photos of cases (照片): uploaded, cleaned of EXIF, kept in the database, served signed."""
