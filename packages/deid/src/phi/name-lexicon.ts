/**
 * The name lexicon of the PHI scan: common given and family names across cultures (English,
 * Spanish and Portuguese, Chinese in pinyin and Wade–Giles, Korean, Japanese, Vietnamese, South
 * Asian, Arabic, West African, Slavic, Nordic, …), including every name the synthetic partner
 * deliveries of packages/synth draw from, so that a scan of a demo delivery finds them all.
 *
 * A lexicon can only ever be a hint: the scanner trusts it for pairs ("Grace Okafor", "Okafor,
 * Grace") and for columns that hold mostly names, never for a lone word in free text. Names that
 * are also everyday or clinical English words ("Grace", "White", "Ward") are listed in
 * LOOKALIKES and need a second piece of evidence (a title, a comma pair, a credential, a column
 * of names).
 */

/** Names separated by commas (a name may hold spaces: "Siew Lan", "de Vries"). */
function splitNames(list: string): string[] {
  return list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

const GIVEN_NAMES = [
  // packages/synth's people.ts draws from these.
  ...splitNames(`
    Mary, Mei-Ling, Aisha, Elena, Grace, Hana, Maria, Olivia, Priya, Rosa, Siew Lan, Yu-Ting,
    Chen, David, Hiroshi, James, José, Kwame, Liam, Mohammed, Raj, Tomás, Wei, Zhi-Hao
  `),
  // English-speaking countries.
  ...splitNames(`
    John, Robert, Michael, William, Richard, Joseph, Thomas, Charles, Christopher, Daniel,
    Matthew, Anthony, Donald, Steven, Paul, Andrew, Joshua, Kenneth, Kevin, Brian, George,
    Edward, Ronald, Timothy, Jason, Jeffrey, Ryan, Jacob, Gary, Nicholas, Eric, Jonathan,
    Stephen, Larry, Justin, Scott, Brandon, Benjamin, Samuel, Gregory, Frank, Alexander,
    Raymond, Patrick, Jack, Dennis, Jerry, Tyler, Aaron, Henry, Douglas, Peter, Adam, Nathan,
    Zachary, Walter, Kyle, Harold, Carl, Jeremy, Keith, Roger, Gerald, Ethan, Arthur, Terry,
    Christian, Sean, Lawrence, Austin, Joe, Noah, Jesse, Albert, Bryan, Billy, Bruce, Willie,
    Jordan, Dylan, Alan, Ralph, Gabriel, Roy, Juan, Wayne, Eugene, Logan, Randy, Louis,
    Russell, Vincent, Philip, Bobby, Johnny, Bradley, Patricia, Jennifer, Linda, Elizabeth,
    Barbara, Susan, Jessica, Sarah, Karen, Nancy, Lisa, Margaret, Betty, Sandra, Ashley,
    Dorothy, Kimberly, Emily, Donna, Michelle, Carol, Amanda, Melissa, Deborah, Stephanie,
    Rebecca, Laura, Sharon, Cynthia, Kathleen, Amy, Shirley, Angela, Helen, Anna, Brenda,
    Pamela, Nicole, Samantha, Katherine, Emma, Christine, Debra, Rachel, Catherine, Carolyn,
    Janet, Virginia, Heather, Diane, Julie, Joyce, Victoria, Kelly, Christina, Joan, Evelyn,
    Lauren, Judith, Megan, Cheryl, Andrea, Hannah, Martha, Jacqueline, Frances, Gloria, Ann,
    Teresa, Kathryn, Sara, Janice, Jean, Alice, Madison, Doris, Abigail, Julia, Judy, Sophia,
    Isabella, Ava, Charlotte, Amelia, Harper, Ella, Chloe, Zoe, Megan, Siobhan, Niamh, Aoife,
    Ciara, Declan, Eoin, Seamus, Fiona, Moira, Callum, Alistair, Hamish, Rhys, Gareth,
    Dafydd, Owen
  `),
  // Spanish, Portuguese, Italian, French, German, Dutch.
  ...splitNames(`
    Carlos, Luis, Jorge, Miguel, Alejandro, Javier, Diego, Sergio, Pablo, Manuel, Francisco,
    Antonio, Fernando, Ricardo, Eduardo, Rafael, Andrés, Mateo, Santiago, Joaquim, João,
    Tiago, Rodrigo, Guadalupe, Carmen, Lucía, Sofía, Valentina, Camila, Daniela, Gabriela,
    Mariana, Ana, Isabel, Pilar, Dolores, Beatriz, Inês, Luciana, Ximena, Marco, Giuseppe,
    Giovanni, Luca, Alessandro, Francesca, Giulia, Chiara, Pierre, Jean-Luc, François,
    Étienne, Mathieu, Camille, Chloé, Élodie, Amélie, Margaux, Hans, Jürgen, Klaus, Wolfgang,
    Stefan, Lukas, Katrin, Ursula, Sabine, Anke, Pieter, Joost, Sanne, Femke
  `),
  // Nordic, Slavic, Greek, Turkish.
  ...splitNames(`
    Lars, Anders, Björn, Sven, Nils, Ingrid, Astrid, Sigrid, Freya, Mikko, Aino, Ivan,
    Dmitri, Sergei, Vladimir, Aleksandr, Olga, Natalia, Tatiana, Svetlana, Irina, Katarzyna,
    Agnieszka, Piotr, Krzysztof, Tomasz, Jakub, Zuzana, Milos, Nikolaos, Georgios, Eleni,
    Dimitra, Mehmet, Mustafa, Emre, Ayşe, Fatma, Elif, Zeynep
  `),
  // Arabic, Persian, Hebrew.
  ...splitNames(`
    Ahmed, Muhammad, Mohamed, Ali, Omar, Hassan, Hussein, Youssef, Ibrahim, Khalid, Tariq,
    Karim, Samir, Fatima, Mariam, Layla, Noor, Yasmin, Zainab, Amina, Leila, Reza, Dariush,
    Shirin, Parisa, Avi, Yosef, Moshe, Noa, Tamar, Yael
  `),
  // South Asian.
  ...splitNames(`
    Arjun, Rahul, Amit, Sanjay, Vikram, Anil, Suresh, Ramesh, Rajesh, Deepak, Arun, Ravi,
    Vijay, Anand, Imran, Farhan, Anjali, Deepika, Kavya, Lakshmi, Meera, Neha, Pooja, Sunita,
    Divya, Shreya, Nisha, Ananya, Gurpreet, Harpreet, Manpreet, Nadia
  `),
  // East and South-East Asian.
  ...splitNames(`
    Hiroko, Haruto, Takashi, Kenji, Satoshi, Yuki, Yuko, Akiko, Keiko, Sakura, Yui, Ren,
    Sota, Minh, Anh, Thanh, Linh, Huong, Tuan, Duc, Hung, Nguyet, Ji-hoon, Min-jun, Seo-yeon,
    Ji-woo, Hyun-woo, Soo-jin, Eun-ji, Jae-won, Xiaoming, Xiaoling, Jing, Li, Ming, Yan, Hui,
    Ying, Jun, Hao, Jie, Lei, Fang, Yong, Mei, Ling, Hsin-Yi, Chia-Hao, Yi-Chen, Chun-Hung,
    Shu-Fen, Wan-Ting, Somchai, Siriporn, Nurul, Siti, Ahmad, Putri, Agus, Budi, Rizal,
    Maricel, Jose
  `),
  // African.
  ...splitNames(`
    Kofi, Kwaku, Yaw, Ama, Akosua, Abena, Chinedu, Chukwuemeka, Ngozi, Adaeze, Oluwaseun,
    Adebayo, Olumide, Funmilayo, Tunde, Babajide, Emeka, Ifeoma, Amara, Thabo, Sipho,
    Nomvula, Lerato, Zanele, Tendai, Farai, Wanjiru, Kamau, Otieno, Achieng, Abebe, Tigist,
    Haile, Moussa, Mamadou, Fatou, Aminata
  `),
];

const FAMILY_NAMES = [
  // packages/synth's people.ts draws from these.
  ...splitNames(`
    Chang, Chen, García, Huang, Johnson, Kim, O'Brien, Lin, Nguyen, Okafor, Patel, Smith,
    Tsai, Wang, Williams, Wu
  `),
  // English-speaking countries.
  ...splitNames(`
    Jones, Brown, Davis, Miller, Wilson, Moore, Taylor, Anderson, Thomas, Jackson, White,
    Harris, Martin, Thompson, Robinson, Clark, Lewis, Walker, Hall, Allen, Young, Hernandez,
    King, Wright, Scott, Green, Baker, Adams, Nelson, Hill, Campbell, Mitchell, Roberts,
    Carter, Phillips, Evans, Turner, Parker, Collins, Edwards, Stewart, Morris, Murphy, Cook,
    Rogers, Morgan, Peterson, Cooper, Reed, Bailey, Bell, Kelly, Howard, Ward, Cox,
    Richardson, Wood, Watson, Brooks, Bennett, Gray, James, Hughes, Price, Sanders, Myers,
    Long, Ross, Foster, Powell, Jenkins, Perry, Russell, Sullivan, Fisher, Henderson,
    Coleman, Simmons, Patterson, Jordan, Reynolds, Hamilton, Graham, Wallace, Cole, West,
    Owens, Marshall, Murray, Ford, Gibson, Ellis, Harrison, O'Connor, O'Neill, McCarthy,
    Byrne, Doyle, Kennedy, Walsh, Fitzgerald, Quinn, MacDonald, McLeod, Fraser, Davies,
    Llewellyn, Pritchard
  `),
  // Spanish, Portuguese, Italian, French, German, Dutch.
  ...splitNames(`
    Rodríguez, Rodriguez, Martínez, Martinez, López, Lopez, González, Gonzalez, Pérez, Perez,
    Sánchez, Sanchez, Ramírez, Ramirez, Torres, Flores, Rivera, Gomez, Gómez, Díaz, Diaz,
    Reyes, Morales, Cruz, Ortiz, Gutiérrez, Chávez, Ramos, Ruiz, Mendoza, Álvarez, Alvarez,
    Castillo, Jiménez, Vargas, Romero, Herrera, Medina, Aguilar, Garcia, Silva, Santos,
    Oliveira, Souza, Pereira, Costa, Ferreira, Almeida, Carvalho, Rossi, Russo, Ferrari,
    Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Bruno, Dubois, Durand, Lefebvre,
    Moreau, Laurent, Girard, Fournier, Rousseau, Müller, Mueller, Schmidt, Schneider,
    Fischer, Weber, Meyer, Wagner, Becker, Hoffmann, Schulz, de Jong, Jansen, de Vries,
    van Dijk, Bakker, Visser, Smit
  `),
  // Nordic, Slavic, Greek, Turkish.
  ...splitNames(`
    Johansson, Andersson, Karlsson, Nilsson, Eriksson, Larsson, Hansen, Nielsen, Jensen,
    Pedersen, Virtanen, Korhonen, Ivanov, Ivanova, Smirnov, Smirnova, Kuznetsov, Popov,
    Petrov, Sokolov, Novak, Kowalski, Nowak, Wiśniewski, Kowalczyk, Horvat, Kovačević,
    Papadopoulos, Georgiou, Yılmaz, Yilmaz, Kaya, Demir, Şahin, Çelik
  `),
  // Arabic, Persian, Hebrew.
  ...splitNames(`
    Abdullah, Hassan, Hussain, Khan, Rahman, Haddad, Khoury, Mansour, Nasser, Saleh, Aziz,
    Farah, Hosseini, Mohammadi, Ahmadi, Rezaei, Cohen, Levi, Levy, Mizrahi, Friedman,
    Goldberg, Katz
  `),
  // South Asian.
  ...splitNames(`
    Sharma, Singh, Kumar, Gupta, Shah, Mehta, Joshi, Reddy, Rao, Nair, Iyer, Menon, Pillai,
    Chowdhury, Das, Banerjee, Mukherjee, Chatterjee, Bhatt, Desai, Malhotra, Kapoor, Agarwal,
    Verma, Siddiqui, Qureshi, Chaudhry, Iqbal, Perera, Fernando
  `),
  // East and South-East Asian.
  ...splitNames(`
    Li, Zhang, Liu, Yang, Zhao, Zhou, Xu, Sun, Ma, Zhu, Hu, Guo, He, Gao, Luo, Zheng, Liang,
    Xie, Song, Tang, Han, Feng, Deng, Cao, Peng, Zeng, Xiao, Tian, Dong, Pan, Yuan, Cai,
    Jiang, Yu, Du, Ye, Cheng, Wei, Lu, Ding, Chan, Wong, Leung, Lau, Cheung, Ho, Ng, Tan,
    Lim, Lee, Teo, Goh, Chua, Koh, Hsu, Chou, Yeh, Kuo, Lai, Hsieh, Chiang, Tseng, Park,
    Choi, Jung, Kang, Cho, Yoon, Jang, Lim, Shin, Sato, Suzuki, Takahashi, Tanaka, Watanabe,
    Ito, Yamamoto, Nakamura, Kobayashi, Kato, Yoshida, Yamada, Sasaki, Matsumoto, Inoue,
    Kimura, Tran, Le, Pham, Hoang, Phan, Vu, Vo, Dang, Bui, Do, Huynh, Santos, Reyes,
    Dela Cruz, Bautista, Villanueva, Wijaya, Susanto, Saetang
  `),
  // African.
  ...splitNames(`
    Mensah, Boateng, Asante, Owusu, Osei, Adeyemi, Okonkwo, Eze, Nwosu, Obi, Balogun,
    Adebayo, Okoro, Ogunleye, Nkosi, Dlamini, Ndlovu, Mokoena, Khumalo, Mwangi, Kamau,
    Odhiambo, Ochieng, Mutua, Tesfaye, Bekele, Diallo, Traoré, Traore, Keita, Ndiaye, Diop,
    Mbeki, Moyo
  `),
];

/**
 * Lexicon names that are also everyday or clinical words, or too short to be evidence on their
 * own: they count as a name only beside a title, a comma pair, a credential or a name column.
 */
const LOOKALIKES = [
  ...splitNames(`
    Grace, Rosa, Hope, Will, Mark, May, Ann, Jean, Joy, Long, Young, King, Hall, Hill, Green,
    Brown, White, Gray, Ward, Bell, Wood, Price, Cook, West, Ford, Cole, Park, Song, Sun, Ma,
    Hu, He, Yu, Du, Ye, Lu, Li, Le, Vu, Vo, Do, Ho, Ng, Tan, Lim, Han, Pan, Ding, Lai, Jun,
    Ren, Lei, Jie, Hao, Hui, Yan, Ying, Ming, Ling, Mei, Noor, Das, Rao, Shah, Obi, Eze, Das,
    Reed, Jordan, James, Thomas, Martin, Christian, Virginia, Carol, Joyce, Frank, Bruno,
    Romano, Fernando, Harper, Kelly, Scott, Allen, Murray, Jackson, Morgan, Bailey, Ross,
    Perry, Long, Chase, Owen, Ali, Amy, Ava, Ella, Ana, Noa, Cruz, Ramos, Costa, Silva,
    Santos, Kim, Jung, Cho, Kang, Shin, Sato, Ito, Kato, Tran, Hung, Duc, Anh, Linh
  `),
];

function normalise(name: string): string {
  return name.normalize('NFC').toLocaleLowerCase('en');
}

/** Lower-cased given names (each part of a multi-word name too: "Siew Lan" gives "siew", "lan"). */
const GIVEN = new Set(GIVEN_NAMES.flatMap((name) => [name, ...name.split(' ')]).map(normalise));
/** Lower-cased family names (each part of a multi-word name too: "de Vries" gives "vries"). */
const FAMILY = new Set(
  FAMILY_NAMES.flatMap((name) => [name, ...name.split(' ').filter((part) => part.length > 3)]).map(
    normalise,
  ),
);
const LOOKALIKE = new Set(LOOKALIKES.map(normalise));

/** How many given and family names the lexicon holds, for the documentation. */
export const NAME_LEXICON_SIZE = { given: GIVEN.size, family: FAMILY.size } as const;

/** Is `word` (any letter case) a given name of the lexicon? */
export function isGivenName(word: string): boolean {
  return GIVEN.has(normalise(word));
}

/** Is `word` (any letter case) a family name of the lexicon? */
export function isFamilyName(word: string): boolean {
  return FAMILY.has(normalise(word));
}

/** Is `word` a lexicon name that is also an everyday word, or too short to count on its own? */
export function isNameLookalike(word: string): boolean {
  return LOOKALIKE.has(normalise(word));
}

/** Is `word` a given or family name of the lexicon that counts on its own? */
export function isDistinctiveName(word: string): boolean {
  const key = normalise(word);
  return (GIVEN.has(key) || FAMILY.has(key)) && !LOOKALIKE.has(key);
}
