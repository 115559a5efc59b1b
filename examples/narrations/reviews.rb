def average_rating(reviews)
  return 0 if reviews.empty?

  reviews.sum(&:stars).to_f / reviews.size
end
