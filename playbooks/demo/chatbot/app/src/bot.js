'use strict';
// What the bot answers. Deterministic, so the demo's data is reproducible.
module.exports = function reply(text, user) {
  const words = text.toLowerCase();
  if (/^(hi|hello|hey)\b/.test(words)) return `Hello ${user}! Ask me about your order, delivery or refunds.`;
  if (words.includes('refund')) return 'Refunds are paid within 5 working days of the return reaching us.';
  if (words.includes('deliver')) return 'Standard delivery takes 2 to 3 working days.';
  if (words.includes('order')) return 'You can follow your order under Account > Orders.';
  if (words.endsWith('?')) return 'Good question: a person from our team will answer it shortly.';
  return `You said: "${text}". Say "help" to see what I can do.`;
};
